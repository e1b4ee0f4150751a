# TinyKV's lab targets, for cargo. Each selects tests by Go name, like
# `go test -run 2AA`; the raftstore targets run one test per process.
CARGO       ?= cargo
TEST        := $(CARGO) test --release
RAFT        := $(TEST) -p raft --
P ?= all
N ?= 1

.PHONY: test lab project2a project2aa project2ab project2ac project3a

test:
	$(TEST) --workspace

lab:
	$(CARGO) run --release --bin tinykv-lab -- $(P) --runs $(N)

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
