//! The `v-*` commands of Hestia 1.10 (hestia-commands.tsv, copied from the wire facts):
//! each one's description, its options as its `check_args` prints them in `Usage:`, and the
//! 1-based position of its USER argument (0: none), which the access-key check uses.

use std::sync::OnceLock;

/// The command list, tab-separated: command, info, options, user_arg_position.
const TSV: &str = include_str!("commands.tsv");

/// One command of the list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Command {
    pub name: &'static str,
    pub info: &'static str,
    pub options: &'static str,
    /// 1-based position of the USER argument; 0 when the command takes none.
    pub user_arg: usize,
}

impl Command {
    /// The arguments the command needs: its options that are not `[optional]`.
    pub fn required(&self) -> usize {
        self.options
            .split_whitespace()
            .filter(|o| !o.starts_with('['))
            .count()
    }
}

/// Every command, in the list's (alphabetical) order.
pub fn all() -> &'static [Command] {
    static ALL: OnceLock<Vec<Command>> = OnceLock::new();
    ALL.get_or_init(|| {
        TSV.lines()
            .skip(1)
            .filter_map(|line| {
                let mut f = line.split('\t');
                let name = f.next()?.trim();
                let info = f.next()?.trim();
                let options = f.next()?.trim();
                let user_arg = f.next()?.trim().parse().ok()?;
                (!name.is_empty()).then_some(Command {
                    name,
                    info,
                    options,
                    user_arg,
                })
            })
            .collect()
    })
}

/// A command by name.
pub fn lookup(name: &str) -> Option<&'static Command> {
    all().iter().find(|c| c.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_list_holds_every_command_with_its_options() {
        assert!(all().len() > 500);
        let add = lookup("v-add-user").expect("v-add-user");
        assert_eq!(
            add.options,
            "USER PASSWORD EMAIL [PACKAGE] [NAME] [LASTNAME]"
        );
        assert_eq!(add.user_arg, 1);
        assert_eq!(add.required(), 3);
        assert_eq!(lookup("v-list-sys-info").expect("cmd").user_arg, 0);
        assert!(lookup("v-update-dns-record").is_none());
    }
}
