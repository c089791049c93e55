//! The console's tabs: one enum, so a tab number that means nothing cannot exist, and its
//! titles and order live in one place.

/// A tab. The order is the tab bar's and the number keys' (tabs that came later are appended,
/// so the earlier ones keep their numbers).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tab {
    Customers,
    Products,
    Orders,
    Analytics,
    Backup,
    Help,
    Journal,
    Duplicates,
    Schema,
}

impl Tab {
    pub const ALL: [Tab; 9] = [
        Tab::Customers,
        Tab::Products,
        Tab::Orders,
        Tab::Analytics,
        Tab::Backup,
        Tab::Help,
        Tab::Journal,
        Tab::Duplicates,
        Tab::Schema,
    ];

    pub fn title(self) -> &'static str {
        match self {
            Tab::Customers => "Customers",
            Tab::Products => "Products",
            Tab::Orders => "Orders",
            Tab::Analytics => "Analytics",
            Tab::Backup => "Backup",
            Tab::Help => "Help",
            Tab::Journal => "Journal",
            Tab::Duplicates => "Duplicates",
            Tab::Schema => "Schema",
        }
    }

    /// The title on a narrow terminal.
    pub fn short(self) -> &'static str {
        match self {
            Tab::Customers => "Cust.",
            Tab::Products => "Prod.",
            Tab::Analytics => "Stats",
            Tab::Duplicates => "Dupl.",
            other => other.title(),
        }
    }

    /// Its place in [`Tab::ALL`].
    pub fn index(self) -> usize {
        Tab::ALL.iter().position(|t| *t == self).unwrap_or(0)
    }

    /// The tab at a place (number key minus one), if any.
    pub fn at(index: usize) -> Option<Tab> {
        Tab::ALL.get(index).copied()
    }

    pub fn next(self) -> Tab {
        Tab::ALL[(self.index() + 1) % Tab::ALL.len()]
    }

    pub fn previous(self) -> Tab {
        Tab::ALL[(self.index() + Tab::ALL.len() - 1) % Tab::ALL.len()]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tabs_cycle_and_index_back() {
        for tab in Tab::ALL {
            assert_eq!(Tab::at(tab.index()), Some(tab));
            assert_eq!(tab.next().previous(), tab);
        }
        assert_eq!(Tab::Schema.next(), Tab::Customers);
        assert_eq!(Tab::at(9), None);
    }
}
