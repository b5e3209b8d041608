//! `#[derive(Module)]` for `wgrad-nn`: writes the structural half of
//! `wgrad_nn::Module` (parameter and child names, buffers, training flag,
//! class name) and `Display`/`Debug` as PyTorch's `print(model)`, for a
//! struct with named fields. The struct writes `Forward` itself.
//!
//! How each field is registered:
//! - `Parameter` or `Option<Parameter>`: a parameter (`None` is left out);
//! - `#[param]` on a `Tensor` (or `Option<Tensor>`): a parameter;
//! - `#[buffer]`: a buffer (in the `state_dict`, not in `parameters()`);
//! - type `Training`: the module's own training flag;
//! - `#[module(skip)]`: ignored (configuration, caches, ...);
//! - anything else: a child module (it must implement `Module`; an
//!   `Option` of one is left out when `None`).
//!
//! A `Tensor` field without an attribute is an error, since PyTorch does not
//! register plain tensor attributes and the intent is ambiguous.
//!
//! On the struct: `#[module(name = "Net")]` overrides the printed class
//! name; `#[module(crate = "wgrad::nn")]` names the path of `wgrad-nn` when
//! it is used through a re-export.

use proc_macro::TokenStream;
use proc_macro2::TokenStream as TokenStream2;
use quote::quote;
use syn::{
    Data, DeriveInput, Fields, GenericArgument, Ident, LitStr, Path, PathArguments, Type,
    parse_macro_input,
};

/// Derives `wgrad_nn::Module`, `Display` and `Debug`; see the crate docs.
#[proc_macro_derive(Module, attributes(module, param, buffer))]
pub fn derive_module(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    expand(input)
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}

/// What a field is to the module.
enum Kind {
    Param,
    Buffer,
    Child,
    Training,
    Skip,
}

/// Where `wgrad_nn` is for the crate being compiled: `::wgrad_nn` when it
/// depends on wgrad-nn (under any name) or is wgrad-nn itself (its lib has
/// `extern crate self as wgrad_nn`, and its doctests and tests are other
/// crates), `::wgrad::nn` when it uses the facade.
fn default_crate_path() -> Path {
    use proc_macro_crate::{FoundCrate, crate_name};
    match (crate_name("wgrad-nn"), crate_name("wgrad")) {
        (Ok(FoundCrate::Itself), _) => syn::parse_quote!(::wgrad_nn),
        (Ok(FoundCrate::Name(name)), _) => {
            let ident = syn::Ident::new(&name, proc_macro2::Span::call_site());
            syn::parse_quote!(::#ident)
        }
        (Err(_), Ok(FoundCrate::Name(name))) => {
            let ident = syn::Ident::new(&name, proc_macro2::Span::call_site());
            syn::parse_quote!(::#ident::nn)
        }
        (Err(_), Ok(FoundCrate::Itself)) => syn::parse_quote!(crate::nn),
        (Err(_), Err(_)) => syn::parse_quote!(::wgrad_nn),
    }
}

/// The struct-level options.
struct StructOptions {
    krate: Path,
    name: Option<String>,
}

fn struct_options(input: &DeriveInput) -> syn::Result<StructOptions> {
    let mut opts = StructOptions {
        krate: default_crate_path(),
        name: None,
    };
    for attr in input.attrs.iter().filter(|a| a.path().is_ident("module")) {
        attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("crate") {
                let lit: LitStr = meta.value()?.parse()?;
                opts.krate = lit.parse()?;
            } else if meta.path.is_ident("name") {
                let lit: LitStr = meta.value()?.parse()?;
                opts.name = Some(lit.value());
            } else {
                return Err(meta.error("expected `crate = \"...\"` or `name = \"...\"`"));
            }
            Ok(())
        })?;
    }
    Ok(opts)
}

/// The last path segment of a type and, for `Option<T>`, that of `T`.
fn last_ident(ty: &Type) -> Option<&Ident> {
    match ty {
        Type::Path(p) => p.path.segments.last().map(|s| &s.ident),
        _ => None,
    }
}

fn option_inner(ty: &Type) -> Option<&Type> {
    let Type::Path(p) = ty else { return None };
    let seg = p.path.segments.last()?;
    if seg.ident != "Option" {
        return None;
    }
    let PathArguments::AngleBracketed(args) = &seg.arguments else {
        return None;
    };
    match args.args.first()? {
        GenericArgument::Type(t) => Some(t),
        _ => None,
    }
}

/// Whether `ty` (or `Option<ty>`) ends in the identifier `name`.
fn is_type(ty: &Type, name: &str) -> bool {
    let inner = option_inner(ty).unwrap_or(ty);
    last_ident(inner).is_some_and(|i| i == name)
}

fn field_kind(field: &syn::Field) -> syn::Result<Kind> {
    let mut kind = None;
    for attr in &field.attrs {
        if attr.path().is_ident("param") {
            kind = Some(Kind::Param);
        } else if attr.path().is_ident("buffer") {
            kind = Some(Kind::Buffer);
        } else if attr.path().is_ident("module") {
            attr.parse_nested_meta(|meta| {
                kind = Some(if meta.path.is_ident("skip") {
                    Kind::Skip
                } else if meta.path.is_ident("param") {
                    Kind::Param
                } else if meta.path.is_ident("buffer") {
                    Kind::Buffer
                } else {
                    return Err(meta.error("expected `skip`, `param` or `buffer`"));
                });
                Ok(())
            })?;
        }
    }
    if let Some(kind) = kind {
        return Ok(kind);
    }
    let ty = &field.ty;
    if is_type(ty, "Parameter") {
        Ok(Kind::Param)
    } else if last_ident(ty).is_some_and(|i| i == "Training") {
        Ok(Kind::Training)
    } else if is_type(ty, "Tensor") {
        Err(syn::Error::new_spanned(
            ty,
            "a Tensor field must say what it is: #[param] (a learnable parameter), \
             #[buffer] (saved in the state_dict) or #[module(skip)]",
        ))
    } else {
        Ok(Kind::Child)
    }
}

fn expand(input: DeriveInput) -> syn::Result<TokenStream2> {
    let opts = struct_options(&input)?;
    let krate = &opts.krate;
    let ident = &input.ident;
    let name = opts.name.unwrap_or_else(|| ident.to_string());
    let Data::Struct(data) = &input.data else {
        return Err(syn::Error::new_spanned(
            ident,
            "#[derive(Module)] needs a struct with named fields",
        ));
    };
    let Fields::Named(fields) = &data.fields else {
        return Err(syn::Error::new_spanned(
            ident,
            "#[derive(Module)] needs a struct with named fields",
        ));
    };

    let (mut params, mut buffers, mut children) = (Vec::new(), Vec::new(), Vec::new());
    let mut training = None;
    for field in &fields.named {
        let f = field.ident.as_ref().expect("named field");
        let key = f.to_string().trim_start_matches("r#").to_string();
        match field_kind(field)? {
            Kind::Param => params.push(quote! {
                #krate::module::ParamField::collect_tensors(&self.#f, #key, &mut out);
            }),
            Kind::Buffer => buffers.push(quote! {
                #krate::module::ParamField::collect_tensors(&self.#f, #key, &mut out);
            }),
            Kind::Child => children.push(quote! {
                #krate::module::ChildField::collect_children(&self.#f, #key, &mut out);
            }),
            Kind::Training => {
                if training.is_some() {
                    return Err(syn::Error::new_spanned(f, "more than one Training field"));
                }
                training = Some(quote! { ::core::option::Option::Some(&self.#f) });
            }
            Kind::Skip => {}
        }
    }
    let training = training.unwrap_or_else(|| quote! { ::core::option::Option::None });

    let (impl_generics, ty_generics, where_clause) = input.generics.split_for_impl();
    let tensor = quote! { #krate::__private::Tensor };
    Ok(quote! {
        impl #impl_generics #krate::Module for #ident #ty_generics #where_clause {
            fn type_name(&self) -> &str {
                #name
            }

            fn own_parameters(&self) -> ::std::vec::Vec<(::std::string::String, #tensor)> {
                #[allow(unused_mut)]
                let mut out = ::std::vec::Vec::new();
                #(#params)*
                out
            }

            fn own_buffers(&self) -> ::std::vec::Vec<(::std::string::String, #tensor)> {
                #[allow(unused_mut)]
                let mut out = ::std::vec::Vec::new();
                #(#buffers)*
                out
            }

            fn named_children(&self) -> ::std::vec::Vec<(::std::string::String, &dyn #krate::Module)> {
                #[allow(unused_mut)]
                let mut out = ::std::vec::Vec::new();
                #(#children)*
                out
            }

            fn training_flag(&self) -> ::core::option::Option<&#krate::Training> {
                #training
            }
        }

        impl #impl_generics ::core::fmt::Display for #ident #ty_generics #where_clause {
            fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                f.write_str(&#krate::Module::repr(self))
            }
        }

        impl #impl_generics ::core::fmt::Debug for #ident #ty_generics #where_clause {
            fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                f.write_str(&#krate::Module::repr(self))
            }
        }
    })
}
