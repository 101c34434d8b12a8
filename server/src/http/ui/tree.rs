//! Trees as nested HTML lists without recursion in templates: items given in pre-order with
//! their depth become a flat sequence of [`Step`]s (open a list, an item, close an item, close a
//! list) that a template walks with one `for` and one `match`.

/// One step of writing nested `<ul>` lists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step<T> {
    /// `<ul>`.
    Open,
    /// `<li>` and the item (its `</li>` comes later, after its children).
    Item(T),
    /// `</li>`.
    CloseItem,
    /// `</ul>`.
    Close,
}

/// The steps that write `items` (pre-order, each with its depth) as nested lists. A depth more
/// than one below the previous item's is taken as one below; the first item's depth is the top.
pub fn nest<T>(items: impl IntoIterator<Item = (usize, T)>) -> Vec<Step<T>> {
    let mut steps = Vec::new();
    let mut depth: Option<usize> = None; // relative depth of the open item
    let mut top = 0;
    for (d, item) in items {
        match depth {
            None => {
                top = d;
                steps.push(Step::Open);
                depth = Some(0);
            }
            Some(cur) => {
                let want = d.saturating_sub(top).min(cur + 1);
                if want > cur {
                    steps.push(Step::Open);
                } else {
                    steps.push(Step::CloseItem);
                    for _ in want..cur {
                        steps.extend([Step::Close, Step::CloseItem]);
                    }
                }
                depth = Some(want);
            }
        }
        steps.push(Step::Item(item));
    }
    if let Some(cur) = depth {
        steps.push(Step::CloseItem);
        for _ in 0..cur {
            steps.extend([Step::Close, Step::CloseItem]);
        }
        steps.push(Step::Close);
    }
    steps
}

#[cfg(test)]
mod tests {
    use super::*;

    fn html(steps: &[Step<&str>]) -> String {
        steps
            .iter()
            .map(|s| match s {
                Step::Open => "<ul>".to_string(),
                Step::Item(t) => format!("<li>{t}"),
                Step::CloseItem => "</li>".into(),
                Step::Close => "</ul>".into(),
            })
            .collect()
    }

    #[test]
    fn nests_and_closes_everything() {
        let steps = nest([(0, "A"), (1, "B"), (2, "C"), (1, "D"), (0, "E")]);
        assert_eq!(html(&steps), "<ul><li>A<ul><li>B<ul><li>C</li></ul></li><li>D</li></ul></li><li>E</li></ul>");
        assert_eq!(
            html(&nest([(0, "A"), (1, "B"), (2, "C")])),
            "<ul><li>A<ul><li>B<ul><li>C</li></ul></li></ul></li></ul>"
        );
        assert!(nest(Vec::<(usize, &str)>::new()).is_empty());
    }

    #[test]
    fn odd_depths_stay_well_formed() {
        assert_eq!(html(&nest([(2, "A"), (5, "B"), (0, "C")])), "<ul><li>A<ul><li>B</li></ul></li><li>C</li></ul>");
    }
}
