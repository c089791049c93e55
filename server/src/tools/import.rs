//! `import`: placeholder until the cleaning module lands.
