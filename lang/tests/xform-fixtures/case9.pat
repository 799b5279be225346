elementclass Q0 {
p0 :: C(2);
p0 [1] -> [0] output;
}

elementclass Q0_Replacement {
p0 :: D($x, 3);
p0 [0] -> [0] output;
p0 [1] -> x2 :: A(1);
}

elementclass Q1 {
p2 :: A;
p3 :: B(1, 2);
p4 :: C;
p3 [0] -> [1] p4;
input [0] -> [0] p2;
}

elementclass Q1_Replacement {
r :: E($y);
input [0] -> [0] r;
}

elementclass Q2 {
p6 :: C(1, 2);
input [0] -> [1] p6;
p6 [0] -> [0] output;
}

elementclass Q2_Replacement {
p6 :: D($y);
input [0] -> [0] p6;
p6 [0] -> [0] output;
}
