pub struct Buzhash;
impl Buzhash { pub fn new() -> Self { todo!() } }
impl super::Chunker for Buzhash { fn max_len(&self) -> usize { 0 } fn next_cut(&mut self, _: &[u8]) -> Option<usize> { None } }
