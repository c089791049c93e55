//! The fields a write may set, named once: the server maps its keywords to them, the journal
//! lists them, and every record's JSON uses the same names.

/// A settable field of a record kind.
pub trait Field: Copy + Eq + 'static {
    /// Every field, in the record's JSON key order.
    const ALL: &'static [Self];

    /// The field's JSON key (`name`, `email`, ...).
    fn as_str(self) -> &'static str;

    /// The field whose name is `word`, compared without regard to ASCII case.
    fn named(word: &[u8]) -> Option<Self> {
        Self::ALL
            .iter()
            .copied()
            .find(|field| field.as_str().as_bytes().eq_ignore_ascii_case(word))
    }
}

/// The fields of a customer that `UPDATE` may change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CustomerField {
    Name,
    Email,
    Phone,
    Address,
}

impl Field for CustomerField {
    const ALL: &'static [CustomerField] = &[
        CustomerField::Name,
        CustomerField::Email,
        CustomerField::Phone,
        CustomerField::Address,
    ];

    fn as_str(self) -> &'static str {
        match self {
            CustomerField::Name => "name",
            CustomerField::Email => "email",
            CustomerField::Phone => "phone",
            CustomerField::Address => "address",
        }
    }
}

/// The fields of a product that `UPDATE` may change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ProductField {
    Name,
    Price,
    Stock,
}

impl Field for ProductField {
    const ALL: &'static [ProductField] =
        &[ProductField::Name, ProductField::Price, ProductField::Stock];

    fn as_str(self) -> &'static str {
        match self {
            ProductField::Name => "name",
            ProductField::Price => "price",
            ProductField::Stock => "stock",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_found_by_name_in_any_case() {
        assert_eq!(CustomerField::named(b"EMAIL"), Some(CustomerField::Email));
        assert_eq!(
            CustomerField::named(b"address"),
            Some(CustomerField::Address)
        );
        assert_eq!(CustomerField::named(b"price"), None);
        assert_eq!(ProductField::named(b"Stock"), Some(ProductField::Stock));
        assert_eq!(ProductField::named(b"created_at"), None);
    }
}
