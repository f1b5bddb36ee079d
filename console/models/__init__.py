"""One QAbstractTableModel per table of the console; no network and no widgets inside (tested windowless)."""
