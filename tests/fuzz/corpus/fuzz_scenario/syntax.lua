local x = 
tasks = {
