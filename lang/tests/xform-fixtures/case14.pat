elementclass Q0 {
p2 :: B;
input [0] -> [0] p2;
p2 [0] -> [0] output;
}

elementclass Q0_Replacement {
p2 :: D;
input [0] -> [0] p2;
p2 [0] -> [0] output;
}

elementclass Q1 {
p3 :: C(1, 2);
p4 :: B(1, 2);
input [0] -> [0] p3;
p4 [0] -> [0] output;
}

elementclass Q1_Replacement {
r :: E($y);
input [0] -> [0] r;
r [0] -> [0] output;
}

elementclass Q2 {
p3 :: C(1, 2);
p4 :: B(1, $x);
input [0] -> [0] p3;
p4 [0] -> [0] output;
}

elementclass Q2_Replacement {
p3 :: E($x, 3);
input [0] -> [0] p3;
p3 [0] -> [0] output;
p3 [1] -> x2 :: A(1);
}
