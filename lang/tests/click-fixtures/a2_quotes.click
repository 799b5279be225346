define($D '$', $T a	b, $a 1);
p :: Print("$D $T");
q :: Print($$a, $(a), $(x $a), $?, $# $a);
r :: Print($a ${b $a);
