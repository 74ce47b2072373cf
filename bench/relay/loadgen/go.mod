module havatar/bench/relay/loadgen

go 1.26
