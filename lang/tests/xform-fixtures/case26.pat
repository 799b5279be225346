elementclass Q0 {
p0 :: C(1);
p1 :: B;
p2 :: A(1, 2);
p0 [0] -> [0] p1;
p1 [0] -> [1] p2;
}

elementclass Q0_Replacement {
p0 :: E;
}

elementclass Q1 {
p5 :: A($y, $x);
input [0] -> [0] p5;
p5 [1] -> [0] output;
}

elementclass Q1_Replacement {
r :: E;
input [0] -> [0] r;
r [0] -> [0] output;
}

elementclass Q2 {
p1 :: B;
input [0] -> [0] p1;
p1 [0] -> [0] output;
}

elementclass Q2_Replacement {
p1 :: D($x);
input [0] -> [0] p1;
p1 [0] -> [0] output;
p1 [1] -> x2 :: A(1);
}
