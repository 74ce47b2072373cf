module havatar/field/wire

go 1.26
