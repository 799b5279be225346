elementclass Q0 {
p7 :: A;
p8 :: A(1, 2);
p7 [0] -> [0] p8;
input [0] -> [0] p7;
p8 [0] -> [0] output;
}

elementclass Q0_Replacement {
r :: D($y);
input [0] -> [0] r;
r [0] -> [0] output;
}

elementclass Q1 {
p8 :: A($x, $x);
p9 :: C($y);
p8 [0] -> [0] p9;
input [0] -> [0] p8;
p8 [0] -> [0] output;
p9 [1] -> [1] output;
}

elementclass Q1_Replacement {
r :: E;
input [0] -> [0] r;
r [0] -> [0] output;
r [1] -> [1] output;
}
