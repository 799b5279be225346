// flush removes every route, the default one too.
i :: Idle -> r :: DirectIPLookup(1.0.0.0/8 0, 1.2.3.128/25 1.2.3.1 1, 0/0 1) -> i; r[1] -> i;
DriverManager(
	print r.lookup 1.2.3.200,
	write r.flush,
	print r.table,
	print r.lookup 1.2.3.200,
	print r.lookup 9.9.9.9,
	write r.add 1.2.3.0/24 1,
	print r.table,
	print r.lookup 1.2.3.200,
)
