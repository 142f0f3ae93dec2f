//! A campaign: for each board, build, gate, push, run every workload under
//! every allocator interleaved, and collect the raw agent output.
