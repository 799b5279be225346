elementclass Q0 {
p2 :: A;
p3 :: B(2);
p3 [0] -> [0] output;
}

elementclass Q0_Replacement {
r :: D($x, 3);
r [0] -> [0] output;
}

elementclass Q1 {
p7 :: B;
p8 :: C;
p7 [0] -> [0] p8;
p8 [1] -> [0] output;
}

elementclass Q1_Replacement {
p7 :: D($x, 3);
p7 [0] -> [0] output;
p7 [1] -> x2 :: B(1);
}
