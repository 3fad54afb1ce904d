//! State enums stored as text. [`text_enum!`] gives an enum its stored names (`as_str`,
//! `parse`, `ALL`, serde with the same names) and, on the server, `stored`: the one way
//! to read a stored value, which is an error naming the row when the value does not parse
//! (never a default). The transitions of each enum live in its own pure machine module
//! (`orders/machine.rs`, `jobs/status.rs`, `provisioning/machine.rs`).

/// Declare a state enum with its stored names:
/// ```ignore
/// text_enum! {
///     /// What a job is doing.
///     pub enum JobStatus { Queued = "queued", Running = "running" }
/// }
/// ```
#[macro_export]
macro_rules! text_enum {
    ($(#[$m:meta])* pub enum $name:ident { $($(#[$vm:meta])* $var:ident = $s:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
        pub enum $name {
            $($(#[$vm])* #[serde(rename = $s)] $var),+
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$var),+];

            /// The stored name.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$var => $s),+
                }
            }

            pub fn parse(s: &str) -> Option<$name> {
                match s {
                    $($s => Some($name::$var),)+
                    _ => None,
                }
            }

            /// A stored value of row `id` in `table`: an error naming the row when it does not parse.
            #[cfg(feature = "ssr")]
            pub fn stored(table: &str, id: &str, s: &str) -> Result<$name, $crate::error::AppError> {
                $name::parse(s).ok_or_else(|| {
                    $crate::error::AppError::corrupt(table, id, format!("unknown {} `{s}`", stringify!($name)))
                })
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}
