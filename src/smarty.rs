//! Luxembourg (Smarty) encrypted P1 frames.
