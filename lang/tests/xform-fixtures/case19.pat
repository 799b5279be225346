elementclass Q0 {
p2 :: B(2);
input [0] -> [0] p2;
}

elementclass Q0_Replacement {
p2 :: D($y);
input [0] -> [0] p2;
p2 [0] -> x2 :: B(1);
}

elementclass Q1 {
p3 :: C($x);
}

elementclass Q1_Replacement {
p3 :: D;
}
