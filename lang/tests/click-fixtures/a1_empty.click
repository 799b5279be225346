define($E);
define($Q "a b");
p :: Print($E x, $Q);
