//! The command line on CARs made to attack it (the adversarial review's findings), run as the
//! `carport` binary.

mod bomb;
mod dag;
mod symlinks;
