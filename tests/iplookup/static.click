// StaticIPLookup: the configured table, its order and lookups.
i :: Idle -> r :: StaticIPLookup(18.26.4.24/32 0, 18.26.4.255/32 0, 18.26.4.0/32 0,
                                 18.26.4/24 1, 0/0 18.26.4.1 1) -> i; r[1] -> i;
DriverManager(
	print r.table,
	print r.lookup 18.26.4.24,
	print r.lookup 18.26.4.7,
	print r.lookup 1.2.3.4,
)
