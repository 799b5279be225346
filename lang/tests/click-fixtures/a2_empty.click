define($E);
p :: Print($E x);
q :: Print(x $E);
r :: Print(${E}${E-y});
