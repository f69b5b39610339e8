//! Document limits async-graphql does not have built in, checked once a document is parsed and
//! before anything walks it: its size once fragments are expanded, aliases per document, root
//! fields per operation, nesting, and introspection when it is off.
//!
//! async-graphql walks fragments *inline*: its recursion check (inside its parse step), the
//! depth and complexity visitors of validation, and execution visit a fragment's selections
//! again at every spread. A ~1 KB document whose 26 fragments each spread the next one twice
//! is 2^26 fields that way: 8 s of CPU in validation, before any limit or cost applies
//! (complexity is only known once that walk has finished). So one pass here measures the
//! expanded document with every fragment measured once (memoised), which keeps the pass
//! linear in the document's text whatever it expands to, and refuses a document over
//! `GRIDGOV_MAX_EXPANDED_FIELDS` before async-graphql walks it.
//!
//! The pipeline runs this pass once it has parsed the document and before handing it to
//! async-graphql, whose preparation includes its own (unmemoised) recursion check.
//!
//! Every count is taken through fragments, at any depth, once per use: an alias inside a
//! fragment spread three times counts three times, as the executor resolves it three times.
//! Depth and complexity stay async-graphql's (both follow spreads), and are affordable once
//! the expanded size is bounded.

use async_graphql::parser::types::{
    ExecutableDocument, FragmentDefinition, OperationType, Selection, SelectionSet,
};
use async_graphql::{Name, Positioned, ServerError};
use std::collections::HashMap;

/// Refuses documents that expand too far, nest too deep, or hold too many aliases, and
/// operations with too many root fields or that introspect a server that does not allow it.
#[derive(Debug, Clone, Copy)]
pub struct DocumentLimits {
    /// Longest document text, in bytes: refused before it is parsed.
    pub max_document_bytes: usize,
    pub max_expanded_fields: usize,
    pub max_aliases: usize,
    pub max_root_fields: usize,
    /// Deepest nesting of selection sets, fragment spreads counted (async-graphql's
    /// `limit_recursive_depth` counts the same way).
    pub max_recursive_depth: usize,
    /// Whether `__schema` and `__type` may be queried.
    pub introspection: bool,
}

/// What a selection set amounts to once every fragment spread in it is replaced by its
/// fragment. Counts saturate: a hostile document may describe more than `usize::MAX` fields.
#[derive(Debug, Clone, Copy, Default)]
struct Expansion {
    /// Fields at any depth.
    fields: usize,
    /// Aliased fields at any depth.
    aliases: usize,
    /// Fields of the selection set itself (through fragments, not into sub-selections).
    roots: usize,
    /// Whether one of those is `__schema` or `__type`.
    introspects: bool,
    /// Nesting of selection sets below this one (as async-graphql's recursion check counts).
    height: usize,
}

impl Expansion {
    fn add(&mut self, other: Expansion) {
        self.fields = self.fields.saturating_add(other.fields);
        self.aliases = self.aliases.saturating_add(other.aliases);
        self.roots = self.roots.saturating_add(other.roots);
        self.introspects |= other.introspects;
    }
}

/// Why a document cannot be measured.
enum Unmeasurable {
    /// A fragment spreads itself, directly or not (validation would report it too).
    Cycle(String),
    /// Selection sets nest deeper than the recursion limit.
    TooDeep,
}

/// Measures selection sets, each fragment once.
struct Measure<'a> {
    fragments: &'a HashMap<Name, Positioned<FragmentDefinition>>,
    /// `None` while the fragment is being measured (a spread of it then is a cycle).
    memo: HashMap<&'a str, Option<Expansion>>,
    max_depth: usize,
}

impl<'a> Measure<'a> {
    /// `depth` is how deep `set` lies; the walk stops past the recursion limit, so the Rust
    /// stack stays bounded whatever the document.
    fn set(&mut self, set: &'a SelectionSet, depth: usize) -> Result<Expansion, Unmeasurable> {
        if depth > self.max_depth {
            return Err(Unmeasurable::TooDeep);
        }
        let mut total = Expansion::default();
        for item in &set.items {
            let (part, nested) = match &item.node {
                Selection::Field(f) => {
                    let field = &f.node;
                    let sub = if field.selection_set.node.items.is_empty() {
                        None
                    } else {
                        Some(self.set(&field.selection_set.node, depth + 1)?)
                    };
                    let name = field.name.node.as_str();
                    let part = Expansion {
                        fields: sub.map_or(0, |s| s.fields).saturating_add(1),
                        aliases: sub
                            .map_or(0, |s| s.aliases)
                            .saturating_add(usize::from(field.alias.is_some())),
                        roots: 1,
                        introspects: name == "__schema" || name == "__type",
                        height: 0,
                    };
                    (part, sub.map(|s| s.height))
                }
                Selection::InlineFragment(i) => {
                    let inner = self.set(&i.node.selection_set.node, depth + 1)?;
                    (inner, Some(inner.height))
                }
                Selection::FragmentSpread(spread) => {
                    let name = &spread.node.fragment_name.node;
                    match self.fragment(name, depth + 1)? {
                        Some(inner) => (inner, Some(inner.height)),
                        // Unknown: validation reports it.
                        None => (Expansion::default(), None),
                    }
                }
            };
            total.add(part);
            if let Some(h) = nested {
                total.height = total.height.max(h.saturating_add(1));
            }
        }
        if depth.saturating_add(total.height) > self.max_depth {
            return Err(Unmeasurable::TooDeep);
        }
        Ok(total)
    }

    fn fragment(
        &mut self,
        name: &'a Name,
        depth: usize,
    ) -> Result<Option<Expansion>, Unmeasurable> {
        match self.memo.get(name.as_str()) {
            Some(Some(known)) => {
                if depth.saturating_add(known.height) > self.max_depth {
                    return Err(Unmeasurable::TooDeep);
                }
                return Ok(Some(*known));
            }
            Some(None) => return Err(Unmeasurable::Cycle(name.to_string())),
            None => {}
        }
        let Some(definition) = self.fragments.get(name) else {
            return Ok(None);
        };
        self.memo.insert(name.as_str(), None);
        let measured = self.set(&definition.node.selection_set.node, depth)?;
        self.memo.insert(name.as_str(), Some(measured));
        Ok(Some(measured))
    }
}

/// Adds the names of the fragments `set` spreads, at any depth of it, to `names`.
fn spreads_in<'a>(set: &'a SelectionSet, names: &mut std::collections::HashSet<&'a str>) {
    for item in &set.items {
        match &item.node {
            Selection::Field(f) => spreads_in(&f.node.selection_set.node, names),
            Selection::InlineFragment(i) => spreads_in(&i.node.selection_set.node, names),
            Selection::FragmentSpread(s) => {
                names.insert(s.node.fragment_name.node.as_str());
            }
        }
    }
}

fn refuse(message: String) -> ServerError {
    let mut e = ServerError::new(message, None);
    let mut ext = async_graphql::ErrorExtensionValues::default();
    ext.set("code", "BAD_USER_INPUT");
    e.extensions = Some(ext);
    e
}

impl DocumentLimits {
    /// The limits of `limits`, with introspection allowed or not.
    pub fn new(limits: &crate::config::Limits, introspection: bool) -> Self {
        DocumentLimits {
            max_document_bytes: limits.max_document_bytes,
            max_expanded_fields: limits.max_expanded_fields,
            max_aliases: limits.max_aliases,
            max_root_fields: limits.max_root_fields,
            max_recursive_depth: limits.max_recursive_depth,
            introspection,
        }
    }

    /// Refuses a document text longer than the limit, before any parsing: parsing costs about
    /// 1 ms per KiB of CPU, which an anonymous caller would otherwise get for nothing.
    pub fn check_size(&self, query: &str) -> Result<(), ServerError> {
        if query.len() > self.max_document_bytes {
            let mut e = refuse(format!(
                "the document is {} bytes long; at most {} are allowed",
                query.len(),
                self.max_document_bytes
            ));
            if let Some(ext) = e.extensions.as_mut() {
                ext.set("field", "query");
            }
            return Err(e);
        }
        Ok(())
    }

    /// Checks `doc` against every limit; linear in the document's size.
    pub fn check(&self, doc: &ExecutableDocument) -> Result<(), ServerError> {
        let mut measure = Measure {
            fragments: &doc.fragments,
            memo: HashMap::new(),
            max_depth: self.max_recursive_depth,
        };
        let unmeasurable = |e| match e {
            Unmeasurable::Cycle(name) => refuse(format!("fragment `{name}` spreads itself")),
            Unmeasurable::TooDeep => refuse(format!(
                "selections and fragments nest deeper than {} levels",
                self.max_recursive_depth
            )),
        };
        let mut document = Expansion::default();
        let mut operations = Vec::new();
        for (_, op) in doc.operations.iter() {
            let measured = measure
                .set(&op.node.selection_set.node, 0)
                .map_err(unmeasurable)?;
            document.add(measured);
            operations.push((op.node.ty, measured));
        }
        // Fragments no operation uses: validation refuses them, but only after visiting them
        // (and, for their selection sets, the fragments they spread), so they count too — each
        // once, through the unused fragments no other fragment spreads. Any left after those
        // spread each other in a cycle, which measuring them reports.
        let mut spread = std::collections::HashSet::new();
        for definition in doc.fragments.values() {
            spreads_in(&definition.node.selection_set.node, &mut spread);
        }
        let unused: Vec<&Name> = doc
            .fragments
            .keys()
            .filter(|name| !measure.memo.contains_key(name.as_str()))
            .collect();
        for name in &unused {
            if !spread.contains(name.as_str())
                && let Some(m) = measure.fragment(name, 1).map_err(unmeasurable)?
            {
                document.add(Expansion { roots: 0, ..m });
            }
        }
        for name in unused {
            measure.fragment(name, 1).map_err(unmeasurable)?;
        }
        if document.fields > self.max_expanded_fields {
            return Err(refuse(format!(
                "the document expands to {} fields, fragments counted at every spread; at most {} are allowed",
                document.fields, self.max_expanded_fields
            )));
        }
        if document.aliases > self.max_aliases {
            return Err(refuse(format!(
                "the document has {} aliases, fragments counted at every spread; at most {} are allowed",
                document.aliases, self.max_aliases
            )));
        }
        for (ty, op) in operations {
            if op.roots > self.max_root_fields {
                return Err(refuse(format!(
                    "an operation has {} root fields; at most {} are allowed",
                    op.roots, self.max_root_fields
                )));
            }
            if op.introspects && ty == OperationType::Query && !self.introspection {
                let mut e = refuse("introspection is disabled on this server".to_owned());
                if let Some(ext) = e.extensions.as_mut() {
                    ext.set("reason", "INTROSPECTION_DISABLED");
                }
                return Err(e);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: DocumentLimits = DocumentLimits {
        max_document_bytes: 102_400,
        max_expanded_fields: 10_000,
        max_aliases: 30,
        max_root_fields: 20,
        max_recursive_depth: 32,
        introspection: true,
    };

    fn check(limits: DocumentLimits, query: &str) -> Result<(), String> {
        let doc = async_graphql::parser::parse_query(query).map_err(|e| e.to_string())?;
        limits.check(&doc).map_err(|e| e.message)
    }

    /// `levels` fragments, each spreading the next one twice: 2^levels + 1 fields expanded.
    fn doubling(levels: usize) -> String {
        let mut q = String::from("{ grid { ...F0 } }");
        for i in 0..levels {
            q.push_str(&format!(
                " fragment F{i} on Grid {{ ...F{n} ...F{n} }}",
                n = i + 1
            ));
        }
        q.push_str(&format!(" fragment F{levels} on Grid {{ __typename }}"));
        q
    }

    #[test]
    fn expansion_is_counted_through_every_spread() {
        assert_eq!(check(LIMITS, &doubling(13)), Ok(()), "8,193 fields");
        let refused = check(LIMITS, &doubling(14)).err().unwrap_or_default();
        assert!(refused.contains("16385 fields"), "{refused}");
        // 2^26 fields, measured without walking them.
        let refused = check(LIMITS, &doubling(26)).err().unwrap_or_default();
        assert!(refused.contains("67108865 fields"), "{refused}");
    }

    #[test]
    fn a_long_chain_of_fragments_is_refused_without_deep_recursion() {
        let mut q = String::from("{ ...F0 }");
        for i in 0..100_000 {
            q.push_str(&format!(" fragment F{i} on Query {{ ...F{} }}", i + 1));
        }
        q.push_str(" fragment F100000 on Query { __typename }");
        let refused = check(LIMITS, &q).err().unwrap_or_default();
        assert!(refused.contains("nest deeper than 32"), "{refused}");
    }

    #[test]
    fn fragments_no_operation_uses_count_too() {
        // Unused, F0 still expands to 2^14 fields that validation would visit.
        let q = doubling(14).replacen(
            "{ grid { ...F0 } }",
            "{ grid { __typename } } fragment U on Grid { ...F0 }",
            1,
        );
        let refused = check(LIMITS, &q).err().unwrap_or_default();
        assert!(refused.contains("16386 fields"), "{refused}");
        // Nesting is checked in them as well.
        let mut chain = String::from("{ __typename }");
        for i in 0..40 {
            chain.push_str(&format!(" fragment C{i} on Query {{ ...C{} }}", i + 1));
        }
        chain.push_str(" fragment C40 on Query { __typename }");
        let refused = check(LIMITS, &chain).err().unwrap_or_default();
        assert!(refused.contains("nest deeper"), "{refused}");
        // And cycles, though no operation reaches them.
        let q = "{ __typename } fragment A on Query { ...B } fragment B on Query { ...A }";
        let refused = check(LIMITS, q).err().unwrap_or_default();
        assert!(refused.contains("spreads itself"), "{refused}");
    }

    #[test]
    fn cycles_are_refused() {
        let refused = check(
            LIMITS,
            "{ ...A } fragment A on Query { ...B } fragment B on Query { ...A }",
        )
        .err()
        .unwrap_or_default();
        assert!(refused.contains("spreads itself"), "{refused}");
    }

    #[test]
    fn nesting_counts_fragments_at_the_depth_they_are_used() {
        let limits = DocumentLimits {
            max_recursive_depth: 3,
            ..LIMITS
        };
        // F is measured where it is first used (its selection set at depth 1, `grids { … }` one
        // deeper), then used again with its selection set at depth 3: `grids { … }` at 4 > 3.
        let q = "{ ...F grid { parent { ...F } } } fragment F on Query { grids { totalCount } }";
        let refused = check(limits, q).err().unwrap_or_default();
        assert!(refused.contains("nest deeper"), "{refused}");
        assert_eq!(
            check(
                limits,
                "{ ...F } fragment F on Query { grids { totalCount } }"
            ),
            Ok(())
        );
    }
}
