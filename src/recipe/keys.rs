//! The key tree of a recipe: unknown keys (with the closest valid key), `--set` overrides by
//! dotted path, TOML literals, and the defaults laid under library sections whose burn
//! `#[derive(Config)]` types require every field when deserialized.

use serde_json::{Map, Value};

use crate::error::{PodiumError, Result};

/// The edit distance between `a` and `b`: insertions, deletions, substitutions and swaps of
/// two adjacent characters (the optimal string alignment distance), each costing 1.
pub fn edit_distance(a: &str, b: &str) -> usize {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    d[0] = (0..=b.len()).collect();
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(d[i - 2][j - 2] + 1);
            }
            d[i][j] = best;
        }
    }
    d[a.len()][b.len()]
}

/// The candidate closest to `key` by [`edit_distance`], when it is close enough to be a typo
/// (at most a third of the longer name, and at least 1 edit allowed); ties go to the first.
pub fn closest<'a>(key: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|c| (edit_distance(key, c), c))
        .filter(|(d, c)| *d <= (key.len().max(c.len()) / 3).max(1))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

fn join(prefix: &str, key: &str) -> String {
    if prefix.is_empty() {
        key.to_string()
    } else {
        format!("{prefix}.{key}")
    }
}

/// The error for `path` (dotted), a key that `valid` (the keys of its table) lacks.
pub fn unknown_key<'a>(
    prefix: &str,
    key: &str,
    value: &Value,
    valid: impl IntoIterator<Item = &'a str> + Clone,
) -> PodiumError {
    let hint = match closest(key, valid.clone()) {
        Some(c) => format!("unknown key; did you mean `{}`?", join(prefix, c)),
        None => {
            let mut names: Vec<&str> = valid.into_iter().collect();
            names.sort_unstable();
            format!("unknown key; valid keys here: {}", names.join(", "))
        }
    };
    PodiumError::config(join(prefix, key), short(value), hint)
}

/// A value as an error message shows it (strings quoted, long values cut).
pub fn short(value: &Value) -> String {
    let text = value.to_string();
    if text.chars().count() > 60 {
        format!("{}...", text.chars().take(57).collect::<String>())
    } else {
        text
    }
}

/// Checks that every key of `given` (the file's tree) exists in `reference` (the tree of the
/// typed value read from it, every field present): a key serde ignored is unknown. Arrays
/// are compared item by item (a pipeline's transforms).
///
/// # Errors
/// [`PodiumError::Config`] naming the first unknown key's dotted path and the closest valid key.
pub fn check_known(given: &Value, reference: &Value, prefix: &str) -> Result<()> {
    if let (Value::Array(given), Value::Array(reference)) = (given, reference) {
        for (i, (g, r)) in given.iter().zip(reference).enumerate() {
            check_known(g, r, &join(prefix, &i.to_string()))?;
        }
        return Ok(());
    }
    let (Value::Object(given), Value::Object(reference)) = (given, reference) else {
        return Ok(());
    };
    for (key, value) in given {
        match reference.get(key) {
            Some(r) => check_known(value, r, &join(prefix, key))?,
            None => {
                return Err(unknown_key(
                    prefix,
                    key,
                    value,
                    reference.keys().map(String::as_str),
                ));
            }
        }
    }
    Ok(())
}

/// `text` as a TOML literal (`1e-3`, `10`, `true`, `"x"`, `[1, 2]`, `{ a = 1 }`), or as a plain
/// string when it is not one (`adamw`, `runs/exp2`).
pub fn parse_literal(text: &str) -> Value {
    toml::from_str::<toml::Table>(&format!("v = {text}"))
        .ok()
        .and_then(|mut t| t.remove("v"))
        .and_then(|v| serde_json::to_value(v).ok())
        .unwrap_or_else(|| Value::String(text.to_string()))
}

/// Sets the dotted `path` of `tree` to `value`, creating the tables on the way (a `null`
/// optional section becomes a table). Whether the key exists is checked afterwards, when the
/// tree is read back ([`check_known`]).
///
/// # Errors
/// [`PodiumError::Config`] (the path) for an empty path or segment, or a path that goes
/// through a value that is not a table.
pub fn set_path(tree: &mut Value, path: &str, value: Value) -> Result<()> {
    let segments: Vec<&str> = path.split('.').collect();
    if segments.iter().any(|s| s.trim().is_empty()) {
        return Err(PodiumError::config(
            path,
            short(&value),
            "a key is a dotted path such as train.lr",
        ));
    }
    let mut node = tree;
    for (i, segment) in segments.iter().enumerate() {
        if node.is_null() {
            *node = Value::Object(Map::new());
        }
        let Value::Object(table) = node else {
            return Err(PodiumError::config(
                segments[..i].join("."),
                short(node),
                format!("is not a table, so `{path}` cannot be set"),
            ));
        };
        if i + 1 == segments.len() {
            table.insert(segment.to_string(), value);
            return Ok(());
        }
        node = table.entry(segment.to_string()).or_insert(Value::Null);
    }
    unreachable!("a split has at least one segment")
}

/// `user` laid over `defaults`: tables merge key by key (recursively), anything else in `user`
/// replaces the default.
pub fn overlay(defaults: &Value, user: &Value) -> Value {
    match (defaults, user) {
        (Value::Object(d), Value::Object(u)) => {
            let mut out = d.clone();
            for (k, v) in u {
                let merged = match d.get(k) {
                    Some(dv) => overlay(dv, v),
                    None => v.clone(),
                };
                out.insert(k.clone(), merged);
            }
            Value::Object(out)
        }
        _ => user.clone(),
    }
}

/// `user` (an externally tagged enum value, `{"Variant": {...}}`) laid over the default of the
/// same variant among `variants` (serialized enum values); other values pass unchanged.
pub fn overlay_variant(variants: &[Value], user: &Value) -> Value {
    let Value::Object(u) = user else {
        return user.clone();
    };
    if u.len() != 1 {
        return user.clone();
    }
    let (name, _) = u.iter().next().expect("one entry");
    match variants.iter().find(|v| v.get(name).is_some()) {
        Some(d) => overlay(d, user),
        None => user.clone(),
    }
}

/// The value at the dotted `path` of `tree`, if any.
pub fn get_path<'a>(tree: &'a Value, path: &str) -> Option<&'a Value> {
    if path.is_empty() {
        return Some(tree);
    }
    path.split('.').try_fold(tree, |node, key| match node {
        Value::Object(t) => t.get(key),
        Value::Array(a) => key.parse::<usize>().ok().and_then(|i| a.get(i)),
        _ => None,
    })
}

/// Sets every `weight_decay` field inside `tree` (an optimizer config: the variant's, a
/// Lookahead's base, Ranger's RAdam) to `decay`; returns how many it set.
pub fn set_weight_decay(tree: &mut Value, decay: f64) -> usize {
    match tree {
        Value::Object(t) => t
            .iter_mut()
            .map(|(k, v)| {
                if k == "weight_decay" {
                    *v = Value::from(decay);
                    1
                } else {
                    set_weight_decay(v, decay)
                }
            })
            .sum(),
        _ => 0,
    }
}
