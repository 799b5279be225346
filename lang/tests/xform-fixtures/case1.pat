elementclass Q0 {
p1 :: B;
p2 :: B(1, 2);
p1 [1] -> [0] p2;
input [0] -> [0] p1;
input [1] -> [1] p1;
p2 [0] -> [0] output;
}

elementclass Q0_Replacement {
r :: E($x);
input [0] -> [0] r;
input [1] -> [1] r;
r [0] -> [0] output;
r [1] -> x2 :: C(1);
}

elementclass Q1 {
p2 :: B(1, 2);
input [0] -> [0] p2;
p2 [0] -> [0] output;
}

elementclass Q1_Replacement {
r :: E($y);
input [0] -> [0] r;
r [0] -> [0] output;
}

elementclass Q2 {
p4 :: A;
p5 :: B;
p4 [0] -> [0] p5;
input [0] -> [0] p4;
p4 [1] -> [0] output;
p5 [1] -> [1] output;
}

elementclass Q2_Replacement {
r :: E($x);
input [0] -> [0] r;
r [0] -> [0] output;
r [1] -> [1] output;
}
