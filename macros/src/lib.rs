//! The parts every GraphQL object type of gridgov repeats, written once.
//!
//! Both attributes go above async-graphql's `#[Object]` on an `impl` block: outer attributes
//! expand first, so they rewrite the block before `#[Object]` reads it.
//!
//! - Every method marked `#[connection]` gets the four Relay arguments `first`, `after`, `last`
//!   and `before` (after its own arguments, with the descriptions every connection shares), the
//!   page-size complexity rule (`schema::relay::page_cost`) and
//!   `allow(clippy::too_many_arguments)`. Its body uses the arguments by those names.
//! - `#[node(id)]` also adds the `id` field, first: the typed global id of the row in `self.0`,
//!   through the type's `NodeObject::Entity`.
//! - `#[node(tracked)]` adds `id` and, last, the `createdAt`, `updatedAt` and `version` fields
//!   of a versioned row; `#[node(tracked = "the grid")]` names the object in their
//!   descriptions instead of "it".
//!
//! `#[connections]` is `#[node]` for a block that is not a node (a root query): it only
//! rewrites the `#[connection]` methods.
//!
//! The generated code names `crate::schema::…`: it is meant for the `gridgov` crate only.

use proc_macro::TokenStream;
use proc_macro2::TokenStream as TokenStream2;
use quote::quote;
use syn::parse::Parser;
use syn::punctuated::Punctuated;
use syn::{
    Error, Expr, ExprLit, FnArg, ImplItem, ImplItemFn, ItemImpl, Lit, Meta, Pat, Token, parse_quote,
};

const FIRST: &str = "Page size counted from the start, or from `after`: 0 to 100 (20 when neither `first` nor `last` is given). Not with `last`.";
const AFTER: &str = "Cursor of an edge (or `pageInfo.endCursor`): the page starts after it. Cursors are opaque and valid only with the same `orderBy`.";
const LAST: &str =
    "Page size counted back from the end, or from `before`: 0 to 100. Not with `first`.";
const BEFORE: &str = "Cursor of an edge (or `pageInfo.startCursor`): the page ends before it.";
const RELAY_ARGS: [&str; 4] = ["first", "after", "last", "before"];
const COMPLEXITY: &str = "crate::schema::relay::page_cost(first, last, child_complexity)";

/// Marks an object type's `impl` block (see the crate documentation): rewrites its
/// `#[connection]` methods and, with `id` or `tracked`, adds the standard fields.
#[proc_macro_attribute]
pub fn node(args: TokenStream, item: TokenStream) -> TokenStream {
    expand(args.into(), item.into(), true)
        .unwrap_or_else(Error::into_compile_error)
        .into()
}

/// Rewrites the `#[connection]` methods of an `impl` block that is not a node (a root query).
#[proc_macro_attribute]
pub fn connections(args: TokenStream, item: TokenStream) -> TokenStream {
    expand(args.into(), item.into(), false)
        .unwrap_or_else(Error::into_compile_error)
        .into()
}

#[derive(Default)]
struct Options {
    id: bool,
    /// The subject of the `createdAt`/`updatedAt` descriptions, when those fields are added.
    tracked: Option<String>,
}

fn options(args: TokenStream2) -> syn::Result<Options> {
    let mut o = Options::default();
    for meta in Punctuated::<Meta, Token![,]>::parse_terminated.parse2(args)? {
        match &meta {
            Meta::Path(p) if p.is_ident("id") => o.id = true,
            Meta::Path(p) if p.is_ident("tracked") => o.tracked = Some("it".to_owned()),
            Meta::NameValue(nv) if nv.path.is_ident("tracked") => match &nv.value {
                Expr::Lit(ExprLit {
                    lit: Lit::Str(s), ..
                }) => o.tracked = Some(s.value()),
                other => {
                    return Err(Error::new_spanned(
                        other,
                        "expected the object's name in a string, e.g. \"the grid\"",
                    ));
                }
            },
            other => {
                return Err(Error::new_spanned(
                    other,
                    "expected `id`, `tracked` or `tracked = \"…\"`",
                ));
            }
        }
    }
    Ok(o)
}

fn expand(args: TokenStream2, item: TokenStream2, is_node: bool) -> syn::Result<TokenStream2> {
    let options = options(args.clone())?;
    if !is_node && (options.id || options.tracked.is_some()) {
        return Err(Error::new_spanned(
            args,
            "`#[connections]` takes no arguments; use `#[node(…)]` on an object type",
        ));
    }
    let mut block: ItemImpl = syn::parse2(item)?;
    for item in &mut block.items {
        if let ImplItem::Fn(method) = item {
            connection(method)?;
        }
    }
    if options.id || options.tracked.is_some() {
        block.items.insert(0, ImplItem::Fn(id_field()));
    }
    if let Some(subject) = &options.tracked {
        block
            .items
            .extend(tracked_fields(subject).map(ImplItem::Fn));
    }
    Ok(quote!(#block))
}

/// Adds the Relay arguments and the complexity rule to a method marked `#[connection]`.
fn connection(method: &mut ImplItemFn) -> syn::Result<()> {
    let Some(at) = method
        .attrs
        .iter()
        .position(|a| a.path().is_ident("connection"))
    else {
        return Ok(());
    };
    let marker = method.attrs.remove(at);
    if !matches!(marker.meta, Meta::Path(_)) {
        return Err(Error::new_spanned(
            marker,
            "`#[connection]` takes no arguments",
        ));
    }
    for arg in &method.sig.inputs {
        if let FnArg::Typed(t) = arg
            && let Pat::Ident(p) = &*t.pat
            && RELAY_ARGS.iter().any(|name| p.ident == name)
        {
            return Err(Error::new_spanned(
                p,
                "`#[connection]` declares `first`, `after`, `last` and `before` itself",
            ));
        }
    }
    // Spanned at the call site, so that the method's body sees them by these names.
    let args: [FnArg; 4] = [
        parse_quote!(#[graphql(desc = #FIRST)] first: ::std::option::Option<i32>),
        parse_quote!(#[graphql(desc = #AFTER)] after: ::std::option::Option<::std::string::String>),
        parse_quote!(#[graphql(desc = #LAST)] last: ::std::option::Option<i32>),
        parse_quote!(#[graphql(desc = #BEFORE)] before: ::std::option::Option<::std::string::String>),
    ];
    method.sig.inputs.extend(args);

    // async-graphql reads only the first `#[graphql]` of a method: the rule joins it.
    let complexity: Meta = parse_quote!(complexity = #COMPLEXITY);
    match method
        .attrs
        .iter_mut()
        .find(|a| a.path().is_ident("graphql"))
    {
        Some(attr) => {
            let Meta::List(list) = &mut attr.meta else {
                return Err(Error::new_spanned(attr, "expected `#[graphql(…)]`"));
            };
            let mut metas =
                list.parse_args_with(Punctuated::<Meta, Token![,]>::parse_terminated)?;
            if let Some(own) = metas.iter().find(|m| m.path().is_ident("complexity")) {
                return Err(Error::new_spanned(
                    own,
                    "`#[connection]` sets the complexity of the field",
                ));
            }
            metas.push(complexity);
            list.tokens = quote!(#metas);
        }
        None => method.attrs.push(parse_quote!(#[graphql(#complexity)])),
    }
    method
        .attrs
        .push(parse_quote!(#[allow(clippy::too_many_arguments)]));
    Ok(())
}

fn id_field() -> ImplItemFn {
    parse_quote! {
        /// Global id.
        pub async fn id(&self) -> ::async_graphql::ID {
            crate::schema::relay::gid::<<Self as crate::schema::relay::NodeObject>::Entity>(
                self.0.id,
            )
        }
    }
}

fn tracked_fields(subject: &str) -> [ImplItemFn; 3] {
    let created = format!(" When {subject} was created.");
    let updated = format!(" When {subject} last changed (equal to `createdAt` until then).");
    [
        parse_quote! {
            #[doc = #created]
            async fn created_at(&self) -> crate::schema::scalars::DateTime {
                self.0.created_at.into()
            }
        },
        parse_quote! {
            #[doc = #updated]
            async fn updated_at(&self) -> crate::schema::scalars::DateTime {
                self.0.updated_at.into()
            }
        },
        parse_quote! {
            /// Incremented on every change; pass it as `expectedVersion` to update safely.
            async fn version(&self) -> i32 {
                self.0.version
            }
        },
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expanded(args: TokenStream2, item: TokenStream2, is_node: bool) -> ItemImpl {
        let out = expand(args, item, is_node).unwrap_or_else(|e| panic!("{e}"));
        syn::parse2(out).unwrap_or_else(|e| panic!("{e}"))
    }

    fn methods(block: &ItemImpl) -> Vec<&ImplItemFn> {
        block
            .items
            .iter()
            .filter_map(|i| match i {
                ImplItem::Fn(f) => Some(f),
                _ => None,
            })
            .collect()
    }

    fn arg_names(f: &ImplItemFn) -> Vec<String> {
        f.sig
            .inputs
            .iter()
            .filter_map(|a| match a {
                FnArg::Typed(t) => match &*t.pat {
                    Pat::Ident(p) => Some(p.ident.to_string()),
                    _ => None,
                },
                FnArg::Receiver(_) => None,
            })
            .collect()
    }

    fn attrs(f: &ImplItemFn) -> Vec<String> {
        f.attrs
            .iter()
            .map(|a| quote!(#a).to_string().replace(' ', ""))
            .collect()
    }

    #[test]
    fn connection_appends_the_relay_arguments_after_its_own() {
        let block = expanded(
            quote!(),
            quote! {
                impl Q {
                    #[connection]
                    async fn items(&self, ctx: &Context<'_>, filter: Option<F>) -> R { todo() }
                    async fn plain(&self) -> i32 { 1 }
                }
            },
            false,
        );
        let m = methods(&block);
        assert_eq!(
            arg_names(m[0]),
            ["ctx", "filter", "first", "after", "last", "before"]
        );
        assert_eq!(
            attrs(m[0]),
            [
                format!("#[graphql(complexity=\"{COMPLEXITY}\")]").replace(' ', ""),
                "#[allow(clippy::too_many_arguments)]".to_owned(),
            ]
        );
        assert_eq!(arg_names(m[1]), Vec::<String>::new());
        assert!(attrs(m[1]).is_empty());
    }

    #[test]
    fn connection_joins_the_methods_own_graphql_attribute() {
        let block = expanded(
            quote!(),
            quote! {
                impl Q {
                    /// Items.
                    #[graphql(name = "things")]
                    #[connection]
                    async fn items(&self) -> R { todo() }
                }
            },
            false,
        );
        let a = attrs(methods(&block)[0]);
        assert_eq!(a.len(), 3, "{a:?}");
        assert_eq!(
            a[1],
            format!("#[graphql(name=\"things\",complexity=\"{COMPLEXITY}\")]").replace(' ', "")
        );
    }

    #[test]
    fn connection_refuses_a_relay_argument_declared_by_hand() {
        let out = expand(
            quote!(),
            quote! { impl Q { #[connection] async fn items(&self, first: Option<i32>) -> R { todo() } } },
            false,
        );
        let err = out.err().map(|e| e.to_string()).unwrap_or_default();
        assert!(err.contains("declares `first`"), "{err}");
    }

    #[test]
    fn connection_refuses_a_complexity_of_its_own() {
        let out = expand(
            quote!(),
            quote! {
                impl Q {
                    #[graphql(complexity = "1")]
                    #[connection]
                    async fn items(&self) -> R { todo() }
                }
            },
            false,
        );
        let err = out.err().map(|e| e.to_string()).unwrap_or_default();
        assert!(err.contains("sets the complexity"), "{err}");
    }

    #[test]
    fn tracked_adds_id_first_and_the_version_fields_last() {
        let block = expanded(
            quote!(tracked = "the grid"),
            quote! { impl G { async fn name(&self) -> &str { &self.0.name } } },
            true,
        );
        let names: Vec<String> = methods(&block)
            .iter()
            .map(|f| f.sig.ident.to_string())
            .collect();
        assert_eq!(names, ["id", "name", "created_at", "updated_at", "version"]);
        let docs: Vec<String> = methods(&block).iter().map(|f| attrs(f).concat()).collect();
        assert!(docs[2].contains("Whenthegridwascreated."), "{}", docs[2]);
        assert!(docs[3].contains("Whenthegridlastchanged"), "{}", docs[3]);
    }

    #[test]
    fn id_alone_adds_only_the_id_field() {
        let block = expanded(
            quote!(id),
            quote! { impl A { async fn actor(&self) -> &str { &self.0.actor } } },
            true,
        );
        let names: Vec<String> = methods(&block)
            .iter()
            .map(|f| f.sig.ident.to_string())
            .collect();
        assert_eq!(names, ["id", "actor"]);
    }

    #[test]
    fn unknown_or_misplaced_options_are_refused() {
        let out = expand(quote!(tracked), quote! { impl Q {} }, false);
        assert!(out.is_err());
        let out = expand(quote!(versioned), quote! { impl Q {} }, true);
        assert!(out.is_err());
    }
}
