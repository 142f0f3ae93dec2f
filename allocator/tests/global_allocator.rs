//! `LwMalloc` as the `#[global_allocator]` of this whole test binary: the
//! test harness, its threads and these tests all allocate through it.

use std::collections::{BTreeMap, HashMap};

use lwmalloc::LwMalloc;

#[global_allocator]
static GLOBAL: LwMalloc = LwMalloc;

#[test]
fn std_collections_run_on_lwmalloc() {
    let before = lwmalloc::snapshot();
    let mut map = HashMap::new();
    let mut tree = BTreeMap::new();
    for i in 0..20_000u32 {
        map.insert(i, format!("value-{i}").repeat((i % 7) as usize));
        tree.insert(format!("{i:08}"), vec![i as u8; (i % 300) as usize]);
    }
    let total: usize =
        map.values().map(String::len).sum::<usize>() + tree.values().map(Vec::len).sum::<usize>();
    assert!(total > 1_000_000);
    let after = lwmalloc::snapshot();
    assert!(
        after.calls[0] >= before.calls[0] + 40_000,
        "allocations did not go through lwmalloc"
    );
    drop(map);
    drop(tree);
    assert_eq!(lwmalloc::check_heap().err(), None);
}

#[test]
fn over_aligned_layouts_are_honoured() {
    #[repr(align(4096))]
    struct Page([u8; 4096]);
    #[repr(align(64))]
    struct Line([u8; 64]);
    let pages: Vec<Box<Page>> = (0..16).map(|_| Box::new(Page([7; 4096]))).collect();
    let lines: Vec<Box<Line>> = (0..1000).map(|_| Box::new(Line([1; 64]))).collect();
    assert!(pages
        .iter()
        .all(|p| (&**p as *const Page as usize).is_multiple_of(4096) && p.0[4095] == 7));
    assert!(lines
        .iter()
        .all(|l| (&**l as *const Line as usize).is_multiple_of(64) && l.0[63] == 1));
    let mut grown: Vec<Line> = Vec::new();
    for _ in 0..500 {
        grown.push(Line([3; 64]));
    }
    assert_eq!(grown.as_ptr() as usize % 64, 0);
    assert!(grown.iter().all(|l| l.0 == [3; 64]));
}

#[test]
fn threads_allocate_and_free_across_each_other() {
    let handles: Vec<_> = (0..4)
        .map(|t| {
            std::thread::spawn(move || {
                (0..10_000)
                    .map(|i| vec![t as u8; i % 500])
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let all: Vec<Vec<Vec<u8>>> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    for (t, vecs) in all.iter().enumerate() {
        assert!(vecs
            .iter()
            .enumerate()
            .all(|(i, v)| v.len() == i % 500 && v.iter().all(|&b| b == t as u8)));
    }
    drop(all);
    assert_eq!(lwmalloc::check_heap().err(), None);
}
