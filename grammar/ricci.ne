# The input language: syntax only. Every production hands its pieces to a typed builder in
# src/syntax/build.ts, which makes the AST node and its source span.
# A top-level `where` names temporaries: `X'*diag(t1)*X where t1 = exp(X*w), t2 = …`.
# Precedence, loosest first:  + -  ·  * / .* ./  ·  unary -  ·  ^ .^ (right-assoc)  ·  postfix '
@preprocessor typescript
@{%
import { lexer } from '../lexer.js';
import * as b from '../build.js';
%}
@lexer lexer

main     -> sum                                    {% id %}
          | sum "where" bindings                   {% b.where %}

bindings -> binding                                {% b.firstBinding %}
          | bindings "," binding                   {% b.nextBinding %}

binding  -> %name "=" sum                          {% b.binding %}

sum      -> sum ("+" | "-") product                {% b.binary %}
          | product                                {% id %}

product  -> product ("*" | "/" | ".*" | "./") unary {% b.binary %}
          | unary                                  {% id %}

unary    -> "-" unary                              {% b.neg %}
          | power                                  {% id %}

power    -> postfix ("^" | ".^") exponent          {% b.binary %}
          | postfix                                {% id %}

exponent -> "-" exponent                           {% b.neg %}
          | power                                  {% id %}

postfix  -> postfix "'"                            {% b.transpose %}
          | atom                                   {% id %}

atom     -> %number                                {% b.num %}
          | %name                                  {% b.name %}
          | %name "(" args ")"                     {% b.call %}
          | "(" sum ")"                            {% b.paren %}

args     -> sum                                    {% b.firstArg %}
          | args "," sum                           {% b.nextArg %}
