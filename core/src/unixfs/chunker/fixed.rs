/// Cuts every `size` bytes, like kubo's `size-N` splitter.
#[derive(Clone, Debug)]
pub struct FixedSize {
    size: usize,
}

impl FixedSize {
    /// Cuts every `size` bytes; panics when `size` is 0.
    pub fn new(size: usize) -> Self {
        assert!(size > 0, "chunk size must be positive");
        FixedSize { size }
    }
}

impl super::Chunker for FixedSize {
    fn max_len(&self) -> usize {
        self.size
    }

    fn next_cut(&mut self, pending: &[u8]) -> Option<usize> {
        (pending.len() >= self.size).then_some(self.size)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::unixfs::chunker::split_all;

    #[test]
    fn cuts_at_multiples() {
        let data = vec![7u8; 10];
        let lens: Vec<usize> =
            split_all(&mut FixedSize::new(4), &data).iter().map(|c| c.len()).collect();
        assert_eq!(lens, [4, 4, 2]);
    }
}
