# TinyKV's lab targets, for cargo. Each selects tests by Go name, like
# `go test -run 2AA`; the raftstore targets run one test per process.
CARGO       ?= cargo
TEST        := $(CARGO) test --release
RAFT        := $(TEST) -p raft --
# The transaction tests are kv unit tests over an in-memory storage.
TXN         := $(TEST) -p kv --lib --
# The raftstore suites run one test per process, one at a time, through the
# lab runner (which also prints a pass-rate table).
LAB         := $(CARGO) run --release --bin tinykv-lab --
P ?= all
N ?= 1

.PHONY: test lab bench bench-raft project1 project2 project2a project2aa project2ab project2ac project2b project2c project3 project3a project3b project4 project4a project4b project4c

test:
	$(TEST) --workspace

lab:
	$(CARGO) run --release --bin tinykv-lab -- $(P) --runs $(N)

# The target workload of docs/PERFORMANCE.md: 3 stores, 64 clients, puts,
# 16-byte keys, 128-byte values, 10 s. ARGS adds or overrides flags.
ARGS ?=
bench:
	$(CARGO) run --release --bin tinykv-bench -- --stores 3 --clients 64 --duration 10 --puts 100 --key-size 16 --value-size 128 --json target/bench.json $(ARGS)

# Criterion microbenchmarks: raft commit in memory, peer storage append.
bench-raft:
	$(CARGO) bench -p raft -p kv

project1:
	$(TEST) -p kv -- server::server_test::Test

project2a:
	$(RAFT) 2A

project2aa:
	$(RAFT) 2AA

project2ab:
	$(RAFT) 2AB

project2ac:
	$(RAFT) 2AC

project3a:
	$(RAFT) 3A

project2: project2a project2b project2c

project2b:
	$(LAB) 2b

project2c:
	$(LAB) 2c

project3: project3a project3b

project3b:
	$(LAB) 3b

project4: project4a project4b project4c

project4a:
	$(TXN) 4A

project4b:
	$(TXN) 4B

project4c:
	$(TXN) 4C
