//! Module `a` mentions `crate::b::internal::secret` only in text: crate::b::internal::secret.
//!
//! ```
//! shop::b::internal::secret();
//! ```

// A line comment: crate::b::internal::secret();
/* A block comment: crate::b::internal::secret(); /* nested: super::b::api::open() */ */

/// Calls nothing in `crate::b::internal`; see [`crate::b::api::open`] in prose only.
#[doc = "crate::b::internal::secret"]
pub fn run() -> usize {
    let plain = "crate::b::internal::secret()";
    let raw = r#"use crate::b::internal::{secret};"#;
    let bytes = b"super::b::internal::secret";
    let chars = ['c', ':', ':'];
    println!("{} crate::b::internal::secret {}", plain, raw);
    assert_eq!(plain.len(), 28, "super::b::internal::secret");
    /** An outer block doc comment on a statement: crate::b::internal::secret */
    let total = plain.len() + raw.len() + bytes.len();
    format!("{{crate::b::internal::secret}}").len() + total
}
