//! Docs truth: the README's module table ("What is emulated") names exactly the modules and
//! actions the dispatcher answers (`invapi::MODULES`), no more and no fewer, so a README
//! row can no longer promise an action (such as `jenkins.php list`) that answers
//! `unknown action`.

use std::collections::{BTreeMap, BTreeSet};

use hostkey_emu::invapi::MODULES;

/// Module path (`eq.php`) -> its actions.
type Surface = BTreeMap<String, BTreeSet<String>>;

/// The names between backticks in a table cell.
fn backticked(cell: &str) -> Vec<&str> {
    cell.split('`').skip(1).step_by(2).collect()
}

/// Reads the module table of the README's "What is emulated" section. A row names one or
/// more modules (`` `os.php`, `software.php` ``, an optional note in parentheses after
/// them) and a comma-separated list of backticked action names that each of them answers;
/// a module may take several rows. Anything else in the actions cell is a format error,
/// so that prose such as "(+ presets `show`)" cannot hide an action from the check.
fn readme_surface(readme: &str) -> Result<Surface, String> {
    let section = readme
        .split("\n## What is emulated")
        .nth(1)
        .ok_or("no \"What is emulated\" section")?;
    let rows: Vec<&str> = section
        .lines()
        .skip_while(|l| !l.starts_with('|'))
        .take_while(|l| l.starts_with('|'))
        // The header row and the separator row.
        .skip(2)
        .collect();
    if rows.is_empty() {
        return Err("the module table has no rows".into());
    }
    let mut surface = Surface::new();
    for row in rows {
        let cells: Vec<&str> = row.split('|').map(str::trim).collect();
        let (modules, actions) = match cells.as_slice() {
            ["", modules, actions, ..] => (*modules, *actions),
            _ => return Err(format!("not a table row: {row}")),
        };
        let names = backticked(modules);
        if names.is_empty() || names.iter().any(|m| !m.ends_with(".php")) {
            return Err(format!("the module cell names no `*.php` module: {row}"));
        }
        let listed = backticked(actions);
        let rebuilt = listed
            .iter()
            .map(|a| format!("`{a}`"))
            .collect::<Vec<_>>()
            .join(", ");
        if listed.is_empty() || rebuilt != actions {
            return Err(format!(
                "the actions cell must be a plain list of `action` names: {row}"
            ));
        }
        for module in names {
            let entry = surface.entry(module.to_owned()).or_default();
            entry.extend(listed.iter().map(|a| (*a).to_owned()));
        }
    }
    Ok(surface)
}

/// What the dispatcher answers.
fn dispatcher_surface() -> Surface {
    MODULES
        .iter()
        .map(|m| {
            let actions = m.actions.iter().map(|a| a.name.to_owned()).collect();
            (format!("{}.php", m.name), actions)
        })
        .collect()
}

/// Every difference between the two surfaces, both ways, one line each.
fn differences(readme: &Surface, dispatcher: &Surface) -> Vec<String> {
    let mut out = Vec::new();
    let empty = BTreeSet::new();
    let modules: BTreeSet<&String> = readme.keys().chain(dispatcher.keys()).collect();
    for module in modules {
        let (documented, served) = (
            readme.get(module).unwrap_or(&empty),
            dispatcher.get(module).unwrap_or(&empty),
        );
        for a in documented.difference(served) {
            out.push(format!(
                "README lists {module} {a}, which the dispatcher does not answer"
            ));
        }
        for a in served.difference(documented) {
            out.push(format!(
                "the dispatcher answers {module} {a}, which the README does not list"
            ));
        }
    }
    out
}

#[test]
fn the_readme_module_table_matches_the_dispatcher_both_ways() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md"))
        .expect("README.md");
    let documented = readme_surface(&readme).expect("a readable module table");
    let diff = differences(&documented, &dispatcher_surface());
    assert!(
        diff.is_empty(),
        "README and dispatcher differ:\n{}",
        diff.join("\n")
    );
}

/// The check itself can fail: the README's old catalogue row (which promised
/// `jenkins.php list`) is caught, as are an action missing from the table and a prose
/// actions cell.
#[test]
fn the_module_table_check_catches_extra_missing_and_hidden_actions() {
    let doc = |rows: &str| {
        format!("# x\n\n## What is emulated\n\n| module | actions | notes |\n|---|---|---|\n{rows}\n\n## Next\n")
    };
    let served: Surface = [("jenkins.php", vec!["get_tasks"]), ("os.php", vec!["list"])]
        .into_iter()
        .map(|(m, a)| (m.to_owned(), a.into_iter().map(str::to_owned).collect()))
        .collect();

    let exact = readme_surface(&doc(
        "| `os.php` | `list` | |\n| `jenkins.php` (post-install) | `get_tasks` | tasks |",
    ))
    .expect("table");
    assert!(differences(&exact, &served).is_empty());

    let old = readme_surface(&doc("| `os.php`, `jenkins.php` | `list` | |")).expect("table");
    assert_eq!(
        differences(&old, &served),
        [
            "README lists jenkins.php list, which the dispatcher does not answer",
            "the dispatcher answers jenkins.php get_tasks, which the README does not list",
        ]
    );

    let prose = doc("| `os.php`, `jenkins.php` | `list` (+ jenkins `get_tasks`) | |");
    assert!(readme_surface(&prose)
        .expect_err("prose in the actions cell")
        .contains("plain list"));
}
