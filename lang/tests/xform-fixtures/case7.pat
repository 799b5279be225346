elementclass Q0 {
p3 :: B;
p4 :: C(1);
p3 [0] -> [0] p4;
input [0] -> [0] p3;
}

elementclass Q0_Replacement {
p3 :: D($y);
input [0] -> [0] p3;
}

elementclass Q1 {
p8 :: A(1, 2);
input [0] -> [0] p8;
}

elementclass Q1_Replacement {
p8 :: E($x, 3);
input [0] -> [0] p8;
p8 [0] -> x2 :: A(1);
}

elementclass Q2 {
p3 :: B;
input [0] -> [0] p3;
p3 [0] -> [0] output;
}

elementclass Q2_Replacement {
r :: E($x, 3);
input [0] -> [0] r;
r [0] -> [0] output;
}
