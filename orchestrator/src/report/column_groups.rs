//! Which allocator columns share a terminal table. A table is the
//! workload and system columns followed by as many allocator columns as
//! fit in the line; the rest go to the next table, which repeats the first
//! two columns. A row is never split over two lines: a table holds at
//! least one allocator column even when that alone is too wide.

use std::ops::Range;

/// Columns are separated by this many spaces.
pub const GAP: usize = 2;

/// Splits `columns` (the widths of the allocator columns, in order) into
/// consecutive ranges whose tables fit in `width` after the leading
/// columns of total width `leading` (their gaps included).
pub fn group_columns(leading: usize, columns: &[usize], width: usize) -> Vec<Range<usize>> {
    let mut groups = Vec::new();
    let mut start = 0;
    let mut used = leading;
    for (i, &w) in columns.iter().enumerate() {
        let needed = GAP + w;
        if i > start && used + needed > width {
            groups.push(start..i);
            start = i;
            used = leading;
        }
        used += needed;
    }
    if start < columns.len() {
        groups.push(start..columns.len());
    }
    groups
}

#[cfg(test)]
mod tests {
    use super::group_columns;

    #[test]
    fn columns_that_fit_share_one_table() {
        // 30 + 4 × (2 + 15) = 98.
        assert_eq!(group_columns(30, &[15, 15, 15, 15], 100), vec![0..4]);
        // Exactly 100 fits; a column that would pass it starts the next table.
        assert_eq!(group_columns(30, &[15, 15, 15, 17], 100), vec![0..4]);
        assert_eq!(group_columns(30, &[15, 15, 15, 18], 100), vec![0..3, 3..4]);
    }

    #[test]
    fn wide_columns_wrap_by_column_and_a_lone_one_is_never_split() {
        assert_eq!(group_columns(32, &[27, 27, 24, 22], 100), vec![0..2, 2..4]);
        assert_eq!(group_columns(90, &[20, 20], 100), vec![0..1, 1..2]);
        assert!(group_columns(30, &[], 100).is_empty());
    }
}
