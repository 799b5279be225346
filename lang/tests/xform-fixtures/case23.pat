elementclass Q0 {
p2 :: B(1, 2);
input [0] -> [1] p2;
p2 [1] -> [0] output;
}

elementclass Q0_Replacement {
r :: D($x);
input [0] -> [0] r;
r [0] -> [0] output;
r [1] -> x2 :: B(1);
}

elementclass Q1 {
p0 :: A;
p1 :: C(2);
p2 :: B(1, $y);
p1 [1] -> [1] p2;
input [0] -> [1] p2;
p2 [1] -> [0] output;
}

elementclass Q1_Replacement {
p0 :: E($x, 3);
input [0] -> [0] p0;
p0 [0] -> [0] output;
}

elementclass Q2 {
p7 :: C($x, $x);
p7 [1] -> [0] output;
}

elementclass Q2_Replacement {
r :: D;
r [0] -> [0] output;
r [1] -> x2 :: C(1);
}
