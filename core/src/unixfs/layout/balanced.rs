use super::{Layout, Link, ParentMaker};

/// kubo's balanced layout: every leaf at the same depth, each parent holding up to `max_links`
/// children, filled left to right. Memory is one partial group per level.
pub struct Balanced {
    max_links: usize,
    levels: Vec<Vec<Link>>,
}

impl Balanced {
    /// A layout of at most `max_links` children per node.
    pub fn new(max_links: usize) -> Self {
        Balanced { max_links: max_links.max(2), levels: Vec::new() }
    }

    fn push_at(&mut self, level: usize, link: Link, maker: &mut dyn ParentMaker) {
        if self.levels.len() == level {
            self.levels.push(Vec::with_capacity(self.max_links));
        }
        if self.levels[level].len() == self.max_links {
            let parent = maker.parent(&self.levels[level], false);
            self.levels[level].clear();
            self.push_at(level + 1, parent, maker);
        }
        self.levels[level].push(link);
    }
}

impl Layout for Balanced {
    fn push(&mut self, leaf: Link, maker: &mut dyn ParentMaker) {
        self.push_at(0, leaf, maker);
    }

    fn finish(&mut self, maker: &mut dyn ParentMaker) -> Option<Link> {
        let mut level = 0;
        while level < self.levels.len() {
            let is_top = self.levels[level + 1..].iter().all(Vec::is_empty);
            let group = std::mem::take(&mut self.levels[level]);
            if is_top {
                return Some(match group.len() {
                    1 if level == 0 => group.into_iter().next().expect("one leaf"),
                    _ => maker.parent(&group, true),
                });
            }
            if !group.is_empty() {
                let parent = maker.parent(&group, false);
                self.push_at(level + 1, parent, maker);
            }
            level += 1;
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::unixfs::layout::testing::{label, leaf, Shape};

    fn shape(leaves: usize, max_links: usize) -> String {
        let mut maker = Shape { nodes: Vec::new() };
        let mut layout = Balanced::new(max_links);
        for i in 0..leaves {
            layout.push(leaf(i), &mut maker);
        }
        label(&layout.finish(&mut maker).unwrap().cid)
    }

    #[test]
    fn single_leaf_is_the_root() {
        assert_eq!(shape(1, 3), "0");
    }

    #[test]
    fn full_level_becomes_root_parent() {
        assert_eq!(shape(3, 3), "(0 1 2)");
    }

    #[test]
    fn one_more_leaf_adds_a_level_with_every_leaf_at_equal_depth() {
        let mut maker = Shape { nodes: Vec::new() };
        let mut layout = Balanced::new(2);
        for i in 0..5 {
            layout.push(leaf(i), &mut maker);
        }
        layout.finish(&mut maker).unwrap();
        assert_eq!(
            maker.nodes,
            ["(0 1)", "(2 3)", "(4)", "((0 1) (2 3))", "((4))", "(((0 1) (2 3)) ((4)))"]
        );
    }
}
