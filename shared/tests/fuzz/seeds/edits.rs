//! Seed programs: hostile operation programs, raw changes real clients
//! make, and honest edit sequences.

use closeloop_shared::record;

use crate::honest::Edit;
use crate::ops::{CAPTURER, Op, T0, base};

fn op(kind: u8, obj: u8, prop: u8, value: u8, extra: u8) -> Op {
    Op {
        kind,
        obj,
        prop,
        value,
        extra,
    }
}

/// (sender, record, program): honest-looking and hostile ones.
pub fn programs() -> Vec<(u8, u8, Vec<Op>)> {
    vec![
        // Splice into the description (object 3 of a captured record).
        (0, 1, vec![op(6, 3, 0, 10, 7)]),
        // Put capturedBy, put a key the record lacks, delete history.
        (2, 1, vec![op(0, 0, 2, 0, 2)]),
        (
            3,
            2,
            vec![op(0, 0, 29, 5, 0), op(9, 0, 0, 1, 1), op(4, 0, 12, 0, 0)],
        ),
        // Insert a map into the history list and write an action and an author.
        (
            2,
            2,
            vec![op(3, 4, 9, 0, 0), op(0, 7, 26, 10, 0), op(0, 7, 24, 0, 2)],
        ),
        // A whole record written into an empty document.
        (
            0,
            0,
            vec![
                op(0, 0, 2, 0, 0),
                op(1, 0, 8, 2, 0),
                op(1, 0, 12, 1, 0),
                op(9, 0, 0, 0, 0),
            ],
        ),
        // Long text and counters, over two changes by two actors.
        (
            1,
            2,
            vec![
                op(0, 0, 22, 1, 5),
                op(9, 0, 0, 3, 3),
                op(5, 0, 14, 8, 9),
                op(7, 3, 0, 0, 4),
            ],
        ),
    ]
}

/// Raw bytes of changes real clients make to a captured record.
pub fn real_changes() -> Vec<Vec<u8>> {
    let mut doc = base(1);
    let before = doc.get_heads();
    let tax = closeloop_shared::taxonomy::Taxonomy::default();
    let edits = record::edit_description(&mut doc, "冰箱冷藏室不制冷", T0 + 1)
        .and_then(|()| record::append_log(&mut doc, "客户已回电", CAPTURER, T0 + 2))
        .and_then(|()| {
            record::set_field(
                &mut doc,
                &tax,
                record::Field::Nature,
                "complaint",
                CAPTURER,
                T0 + 3,
            )
        });
    assert_eq!(edits, Ok(()));
    doc.get_changes(&before)
        .into_iter()
        .map(|mut c| c.bytes().to_vec())
        .collect()
}

fn edit(who: u8, kind: u8, arg: u8) -> Edit {
    Edit { who, kind, arg }
}

/// (record, edits): the whole loop by head office, field work, creation.
pub fn honest_sequences() -> Vec<(u8, Vec<Edit>)> {
    vec![
        (
            1,
            vec![
                edit(2, 8, 0),
                edit(2, 8, 1),
                edit(0, 8, 3),
                edit(0, 1, 0),
                edit(0, 8, 6),
                edit(2, 8, 7),
                edit(2, 8, 8),
            ],
        ),
        (
            1,
            vec![
                edit(0, 0, 0),
                edit(0, 2, 1),
                edit(0, 5, 2),
                edit(0, 6, 3),
                edit(0, 7, 1),
                edit(1, 0, 1),
            ],
        ),
        (
            2,
            vec![
                edit(0, 8, 3),
                edit(0, 9, 0),
                edit(0, 10, 1),
                edit(3, 3, 0),
                edit(3, 11, 1),
                edit(2, 12, 2),
                edit(2, 13, 3),
                edit(4, 7, 0),
            ],
        ),
        (0, vec![edit(1, 0, 0), edit(1, 0, 255), edit(0, 4, 0)]),
    ]
}
