elementclass Q0 {
p2 :: A(1);
p3 :: C(1, 2);
p4 :: B(1);
p2 [0] -> [0] p3;
p3 [0] -> [0] p4;
}

elementclass Q0_Replacement {
r :: E($y);
}

elementclass Q1 {
p3 :: C($y, 2);
input [0] -> [0] p3;
p3 [0] -> [0] output;
}

elementclass Q1_Replacement {
r :: D($x, 3);
input [0] -> [0] r;
r [0] -> [0] output;
}
