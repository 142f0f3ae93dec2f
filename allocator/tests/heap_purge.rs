//! A big free chunk left behind when the heap has to grow gives its pages
//! back (`purge_bins`): they stop being resident, the bytes around them
//! survive, and the chunk serves requests again afterwards. One test in
//! its own process, so no other test's blocks sit in the heap.

const BLOCK: usize = 16 << 10;
const BLOCKS: usize = 512; // 8 MiB, above PURGE_MIN_BYTES (4 MiB)

/// Pages of `[start, end)` that are resident, by mincore.
fn resident_pages(start: usize, end: usize) -> usize {
    let page = 4096;
    let start = start & !(page - 1);
    let mut map = vec![0u8; (end - start).div_ceil(page)];
    // SAFETY: the range lies in the heap's committed region (mincore only
    // reads the page tables) and `map` holds a byte per page.
    let rc = unsafe { libc::mincore(start as *mut libc::c_void, end - start, map.as_mut_ptr()) };
    assert_eq!(rc, 0, "mincore: {}", std::io::Error::last_os_error());
    map.iter().filter(|&&b| b & 1 != 0).count()
}

#[test]
fn a_big_free_chunk_is_purged_when_the_heap_must_grow() {
    // SAFETY: every pointer used below is live and holds the bytes written.
    unsafe {
        // 1. 8 MiB of 16 KiB heap blocks, one after the other, and a guard
        //    above them so their merged chunk is not the region's top
        //    (which is trimmed, not purged).
        let blocks: Vec<*mut u8> = (0..BLOCKS)
            .map(|i| {
                let b = lwmalloc::malloc(BLOCK);
                assert!(!b.is_null());
                b.write_bytes(i as u8 | 1, BLOCK);
                b
            })
            .collect();
        let guard = lwmalloc::malloc(BLOCK);
        guard.write_bytes(0x5a, BLOCK);
        let low = blocks.iter().map(|&b| b as usize).min().unwrap();
        let high = blocks.iter().map(|&b| b as usize).max().unwrap() + BLOCK;
        assert!(
            high - low < BLOCKS * (BLOCK + 64),
            "the blocks are not one run of heap chunks ({} bytes)",
            high - low
        );

        // 2. Freed, they merge into one free chunk that stays resident:
        //    the next requests of that size would take it.
        for &b in &blocks {
            lwmalloc::free(b);
        }
        let before = lwmalloc::snapshot().returned;
        let big = lwmalloc::malloc(BLOCK); // merges the deferred frees
        assert!(!big.is_null());
        lwmalloc::free(big);
        assert_eq!(lwmalloc::check_heap().err(), None);
        let resident = resident_pages(low + 4096, high - 4096);
        assert!(
            resident > BLOCKS * BLOCK / 4096 / 2,
            "the freed chunk is resident before the heap grows ({resident} pages)"
        );

        // 3. A request no free chunk can serve: before the heap grows (or
        //    maps), the chunk gives its pages back.
        let huge = lwmalloc::malloc(3 * BLOCKS * BLOCK);
        assert!(!huge.is_null());
        huge.write_bytes(0x33, 3 * BLOCKS * BLOCK);
        assert_eq!(lwmalloc::check_heap().err(), None);
        let resident = resident_pages(low + 4096, high - 4096);
        assert!(
            resident <= 2,
            "{resident} pages of the free 8 MiB chunk are still resident"
        );
        let returned = lwmalloc::snapshot().returned - before;
        assert!(
            returned >= (BLOCKS * BLOCK - 3 * 4096) as u64,
            "returned counts {returned} bytes for the purge"
        );
        let guard_bytes = std::slice::from_raw_parts(guard, BLOCK);
        assert!(guard_bytes.iter().all(|&b| b == 0x5a), "guard overwritten");

        // 4. The purged chunk serves again, and keeps what is written.
        let again: Vec<*mut u8> = (0..64)
            .map(|i| {
                let b = lwmalloc::malloc(BLOCK);
                assert!(!b.is_null());
                b.write_bytes(i as u8, BLOCK);
                b
            })
            .collect();
        // (A few may come from the free pad at the region's top first.)
        let reused = again
            .iter()
            .filter(|&&b| (low..high).contains(&(b as usize)))
            .count();
        assert!(
            reused >= 48,
            "only {reused} of 64 blocks reuse the purged chunk"
        );
        for (i, &b) in again.iter().enumerate() {
            let bytes = std::slice::from_raw_parts(b, BLOCK);
            assert!(bytes.iter().all(|&x| x == i as u8));
            lwmalloc::free(b);
        }
        lwmalloc::free(huge);
        lwmalloc::free(guard);
        assert_eq!(lwmalloc::check_heap().err(), None);
    }
}
