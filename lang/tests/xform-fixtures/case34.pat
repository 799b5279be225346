elementclass Q0 {
p11 :: B($y);
input [0] -> [1] p11;
}

elementclass Q0_Replacement {
p11 :: E($x, 3);
input [0] -> [0] p11;
p11 [0] -> x2 :: A(1);
}

elementclass Q1 {
p4 :: B($y);
p5 :: A(1);
p4 [0] -> [0] p5;
input [0] -> [1] p4;
p5 [0] -> [0] output;
}

elementclass Q1_Replacement {
r :: E;
input [0] -> [0] r;
r [0] -> [0] output;
}

elementclass Q2 {
p6 :: A(2);
p7 :: B;
input [0] -> [0] p6;
p7 [0] -> [0] output;
}

elementclass Q2_Replacement {
r :: E;
input [0] -> [0] r;
r [0] -> [0] output;
r [1] -> x2 :: C(1);
}
