//! Heap regions grow and shrink in place: a buffer grown by realloc at the
//! top of a region never moves, a freed top is trimmed back to the kept
//! pad, and the free chunks merge across what used to be separate growths.
//! One test in its own process, so no other test's blocks sit in the heap.

fn heap_bytes() -> u64 {
    lwmalloc::snapshot().heap
}

#[test]
fn regions_grow_under_a_buffer_and_shrink_when_their_top_is_freed() {
    // 1. A buffer grown 4 KiB at a time from 8 KiB to 8 MiB: the heap grows
    //    under it, so it stays where it is (a copy per step would be
    //    quadratic) and its contents survive.
    // SAFETY: every pointer used below is live and holds the bytes written.
    unsafe {
        let mut p = lwmalloc::malloc(8 << 10);
        assert!(!p.is_null());
        let first = p;
        p.write_bytes(0xa5, 8 << 10);
        let mut len = 8 << 10;
        while len < 8 << 20 {
            let q = lwmalloc::realloc(p, len + 4096);
            assert!(!q.is_null());
            assert_eq!(q, first, "grown from {len} bytes, the buffer moved");
            q.add(len).write_bytes(0xa5, 4096);
            p = q;
            len += 4096;
        }
        let bytes = std::slice::from_raw_parts(p, len);
        assert!(bytes.iter().all(|&b| b == 0xa5));
        assert_eq!(lwmalloc::check_heap().err(), None);
        let grown = heap_bytes();
        assert!(
            grown >= 8 << 20,
            "heap holds {grown} bytes under an 8 MiB buffer"
        );

        // 2. Freed, the buffer's pages go back except at most twice its
        //    size (the trim threshold the buffer raised, as glibc's would).
        lwmalloc::free(p);
        assert_eq!(lwmalloc::check_heap().err(), None);

        // 3. Many medium blocks, then all freed: the deferred merges reach
        //    the top and the region shrinks to the kept pad.
        let blocks: Vec<*mut u8> = (0..4096)
            .map(|i| {
                let b = lwmalloc::malloc(16 << 10);
                assert!(!b.is_null());
                b.write_bytes(i as u8, 16 << 10);
                b
            })
            .collect();
        let peak = heap_bytes();
        assert!(peak >= 64 << 20, "64 MiB of blocks in a {peak}-byte heap");
        for b in blocks {
            lwmalloc::free(b);
        }
        assert_eq!(lwmalloc::check_heap().err(), None);
        let after = heap_bytes();
        assert!(
            after < 24 << 20,
            "heap still {after} bytes after 64 MiB was freed (peak {peak})"
        );
    }
}
