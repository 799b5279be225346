elementclass Q0 {
p9 :: C(1, 2);
input [0] -> [1] p9;
}

elementclass Q0_Replacement {
r :: D($x);
input [0] -> [0] r;
r [0] -> x2 :: A(1);
}

elementclass Q1 {
p2 :: A(2);
input [0] -> [1] p2;
p2 [1] -> [0] output;
}

elementclass Q1_Replacement {
r :: E($y);
input [0] -> [0] r;
r [0] -> [0] output;
r [1] -> x2 :: C(1);
}

elementclass Q2 {
p9 :: C(1, 2);
input [0] -> [1] p9;
}

elementclass Q2_Replacement {
p9 :: E;
input [0] -> [0] p9;
}
