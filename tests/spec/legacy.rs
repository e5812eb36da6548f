//! Legacy exception handling (placeholder, filled below).
