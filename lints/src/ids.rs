//! The ids that stages hand each other: a package and a compilation unit of the workspace, and a
//! module of `boundaries.toml`. Each is its own type, so that a unit can never index the modules.
//! They import nothing, so that the module graph can speak of modules without knowing the model.

/// Declares an id: a copyable index into one list, convertible only on purpose.
macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
        #[serde(transparent)]
        pub(crate) struct $name(usize);

        impl $name {
            /// The id of the item at `index` of its list.
            pub(crate) fn new(index: usize) -> $name {
                $name(index)
            }

            /// The item's index in its list.
            pub(crate) fn index(self) -> usize {
                self.0
            }
        }
    };
}

id_type! {
    /// A package of the workspace: an index into `Workspace::packages`.
    PackageId
}

id_type! {
    /// A compilation unit of the workspace: an index into `Workspace::units`.
    UnitId
}

id_type! {
    /// A module of `boundaries.toml`: an index into the model's modules, in the file's order.
    ModuleId
}
