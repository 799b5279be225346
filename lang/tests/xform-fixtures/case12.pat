elementclass Q0 {
p9 :: A(2);
p10 :: A;
input [0] -> [0] p9;
}

elementclass Q0_Replacement {
p9 :: E($x);
input [0] -> [0] p9;
}

elementclass Q1 {
p1 :: A(1, 2);
input [0] -> [0] p1;
p1 [0] -> [0] output;
}

elementclass Q1_Replacement {
r :: E($x, 3);
input [0] -> [0] r;
r [0] -> [0] output;
}
