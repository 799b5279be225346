elementclass Q0 {
p1 :: B(1);
input [0] -> [0] p1;
p1 [1] -> [0] output;
}

elementclass Q0_Replacement {
p1 :: D($x);
input [0] -> [0] p1;
p1 [0] -> [0] output;
}

elementclass Q1 {
p2 :: C;
input [0] -> [0] p2;
input [1] -> [1] p2;
p2 [0] -> [0] output;
}

elementclass Q1_Replacement {
p2 :: E($x);
input [0] -> [0] p2;
input [1] -> [1] p2;
p2 [0] -> [0] output;
p2 [1] -> x2 :: C(1);
}

elementclass Q2 {
p3 :: A;
input [0] -> [0] p3;
p3 [0] -> [0] output;
}

elementclass Q2_Replacement {
r :: D;
input [0] -> [0] r;
r [0] -> [0] output;
}
