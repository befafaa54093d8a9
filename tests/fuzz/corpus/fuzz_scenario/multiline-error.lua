error("one\ntwo")
